"""DICOM header de-identification: the PS3.15 tables as data and the engine that applies them."""
