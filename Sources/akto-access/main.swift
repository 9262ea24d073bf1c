print("akto-access")
