"""Credit files (信用档案) of workers, companies, institutions and employers: dated records,
an explainable score and level under a versioned policy, red and black lists, complaints,
disputes and credit repair."""
