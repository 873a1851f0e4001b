"""Human (and automatic) rating of long-form answers: the rubric; later the rating app and its database."""
