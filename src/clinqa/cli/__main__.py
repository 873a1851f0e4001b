"""`python -m clinqa.cli ...`: the `clinqa` command."""

from clinqa.cli.main import main

if __name__ == "__main__":
    main()
