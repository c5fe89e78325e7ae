from spacy_dynclean.cli import main

if __name__ == "__main__":
    main()
