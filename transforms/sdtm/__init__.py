"""SDTM mapping: the algorithm vocabulary, dates and study days, dataset builders."""
