"""Text side: languages, phoneme inventories, G2P, lexicons, subword units."""
