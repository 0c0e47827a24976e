print("mesgate")
