import sys

from thumbsmith.cli import main

sys.exit(main())
