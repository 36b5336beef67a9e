"""``python -m gaitbench`` (and ``torchrun -m gaitbench train ...``): the same CLI as ``gaitbench``."""

from gaitbench.cli import main

if __name__ == "__main__":
    main()
