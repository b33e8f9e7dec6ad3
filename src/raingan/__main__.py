from raingan.cli import main

raise SystemExit(main())
