"""Patient and family education: the library, reading grade, suggestions, assignments and
teach-back; plain-language terms."""
