from infra.local.system import main

main()
