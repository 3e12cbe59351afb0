"""``python -m deepcompress_np``: the same program as the ``deepcompress`` console script."""

from deepcompress_np.cli import main

raise SystemExit(main())
