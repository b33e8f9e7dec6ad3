from raingan.cli import entry

entry()
