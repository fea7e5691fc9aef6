"""Published years of the Saxon complaints office, as figures and as generated complaints."""
