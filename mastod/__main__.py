from __future__ import annotations

from mastod.cli import main

raise SystemExit(main())
