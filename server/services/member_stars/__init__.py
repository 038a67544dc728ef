"""星级党员: the branch's yearly ledger — evidence gathered from the records (`evidence`), a
suggestion by a plain rule (`rule`), the star or 免评 decided by the branch and every decision
logged (`ledger`), and how they are written (`words`).  No HTTP or chat here."""
