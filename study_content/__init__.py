"""The study corpus: units a member reads, quizzes on and asks about (filled in by the study issue)."""
