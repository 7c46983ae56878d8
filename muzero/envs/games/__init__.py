"""Two-player, turn-based, zero-sum games: PettingZoo's AEC games as self-play environments, and opponents."""
