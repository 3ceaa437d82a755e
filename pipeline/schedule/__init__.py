"""Schedule: which clip plays at each minute of the day, how much of the day is covered, and the live HLS."""
