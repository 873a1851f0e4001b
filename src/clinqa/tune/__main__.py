"""`python -m clinqa.tune ...` (and `accelerate launch -m clinqa.tune ...`): the same options as `clinqa tune`."""

from clinqa.cli import main

if __name__ == "__main__":
    import sys
    main(["tune", *sys.argv[1:]])
