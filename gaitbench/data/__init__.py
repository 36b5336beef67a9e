"""Data stage: raw layouts -> alignment -> the HDF5 store, plus partitions.

Modules: `layouts` (raw folder readers), `align` (OpenGait-identical alignment), `store` (the HDF5
format), `prep` (the `gaitbench prep` pipeline), `export` (npz / OpenGait pkl output), `pickles`
(restricted unpickler), `partitions` (official train / test lists).
"""
