"""`make bench`: the speed and memory quality bars, printed as ratios measured in one run."""
