-- materialized: view
-- Cloud instance families with GPUs or AWS accelerators and the class of their accelerator (the instance family is the part of the type before the dot: g5.xlarge -> g5 -> A10G-24GB; the same mapping as scrapers/sources/aws_ec2.py FAMILIES), with the accelerator count of the sizes that have more than one (a size not listed has one). stg_line_items reads the instance type from the line's charge description, usage type or SKU and classifies the line as dedicated_gpu with this class and count.
SELECT f.family, f.gpu_class, s.instance_type, s.accelerators
FROM (VALUES
    ('g4dn', 'T4-16GB'), ('g5', 'A10G-24GB'), ('g6', 'L4-24GB'), ('g6e', 'L40S-48GB'),
    ('p4d', 'A100-40GB'), ('p4de', 'A100-80GB'), ('p5', 'H100-80GB-SXM'), ('p5e', 'H200-141GB'), ('p5en', 'H200-141GB'),
    ('p6-b200', 'B200-180GB'),
    ('inf1', 'INFERENTIA1-8GB'), ('inf2', 'INFERENTIA2-32GB'), ('trn1', 'TRAINIUM1-32GB'), ('trn1n', 'TRAINIUM1-32GB'),
    ('trn2', 'TRAINIUM2-96GB')
) f(family, gpu_class)
LEFT JOIN (VALUES
    ('g4dn.12xlarge', 4), ('g4dn.metal', 8), ('g5.12xlarge', 4), ('g5.24xlarge', 4), ('g5.48xlarge', 8),
    ('g6.12xlarge', 4), ('g6.24xlarge', 4), ('g6.48xlarge', 8), ('g6e.12xlarge', 4), ('g6e.24xlarge', 4), ('g6e.48xlarge', 8),
    ('p4d.24xlarge', 8), ('p4de.24xlarge', 8), ('p5.48xlarge', 8), ('p5e.48xlarge', 8), ('p5en.48xlarge', 8),
    ('p6-b200.48xlarge', 8),
    ('inf1.6xlarge', 4), ('inf1.24xlarge', 16), ('inf2.24xlarge', 6), ('inf2.48xlarge', 12),
    ('trn1.32xlarge', 16), ('trn1n.32xlarge', 16), ('trn2.48xlarge', 16)
) s(instance_type, accelerators) ON split_part(s.instance_type, '.', 1) = f.family
