"""Data loading: MOT text I/O, the MvMHAT dataset layout, crops, the crop cache, training samples."""
