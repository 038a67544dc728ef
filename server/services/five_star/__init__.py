"""五星支部: the scheme, the records' figures, the yearly cycle, the branch's standing."""
