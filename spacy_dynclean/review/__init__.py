"""Review: suspect groups for a person, and their decisions back into a cleaning."""
