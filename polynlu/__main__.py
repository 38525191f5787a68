from polynlu.cli import main

main()
