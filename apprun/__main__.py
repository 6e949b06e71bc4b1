from apprun.cli import main

main()
