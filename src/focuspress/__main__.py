from focuspress.cli import main

main()
