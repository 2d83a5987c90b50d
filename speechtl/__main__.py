import sys

from speechtl.cli import main

if __name__ == "__main__":
    sys.exit(main())
