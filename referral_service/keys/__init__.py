"""Per-case data keys: storage of wrapped keys, field encryption of models, rotation and crypto-shredding."""
