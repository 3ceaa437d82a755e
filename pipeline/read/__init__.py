"""Read: the time on a found clock, analog or digital, and one time fitted per sighting."""
