"""What a library shows: the one SQL condition every read of what people see filters with.

A photo is shown when its file is present and it is not a RAW shown as the JPEG it was taken
with (`photolab.media.pairs`: the pair is one photo, the JPEG's).
"""

#: the condition, on `photos p`
SHOWN = "p.status = 'present' AND p.paired_to IS NULL"
