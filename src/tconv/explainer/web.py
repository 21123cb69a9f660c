"""The interactive page: its assets, and the page embedded in Jupyter (``Explanation._repr_html_``)."""
