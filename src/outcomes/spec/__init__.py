"""Pure declarations: the data contract (columns, vocabularies), the measure registry, the declared
plan schema, the analysis plan and each claim's settings.  No statistics, no data.
"""
