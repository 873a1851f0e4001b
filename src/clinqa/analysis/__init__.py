"""Analysis of rating studies with the paper's statistics: independent ratings (best-bin share, answer-clustered
bootstrap, answer-blocked permutation tests, multiplicity correction), pairwise preferences (binomial intervals and
tests), inter-rater reliability (Randolph's free-marginal kappa, Fleiss' kappa, Krippendorff's alpha), figures and one
self-contained HTML report with a CSV of every number (`clinqa rate analyze`)."""
