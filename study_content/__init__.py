"""The study corpus: units a member reads, is quizzed on and asks about (the study issue)."""
