"""The public site: the HTML home of every feed and email link."""
