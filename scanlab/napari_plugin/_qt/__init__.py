"""Qt widgets of the napari plugin; each wraps a plain-Python model of ``scanlab.napari_plugin``."""
