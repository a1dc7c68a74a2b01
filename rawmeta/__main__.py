"""``python -m rawmeta``: the command line."""
from rawmeta.cli.main import main

main(prog_name="rawmeta")
