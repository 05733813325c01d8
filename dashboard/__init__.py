"""The Streamlit app layer: cached one-line wrappers over metalearn_core and shared widgets.

Only pages and this package import streamlit; everything computed lives in metalearn_core.
"""
