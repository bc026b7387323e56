"""Version of skysense_mm."""
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse ``'0.1.0rc1'`` into ``(0, 1, 0, 'rc1')``."""
    parts = []
    for x in version_str.split('.'):
        if x.isdigit():
            parts.append(int(x))
        else:
            num = ''.join(c for c in x if c.isdigit())
            rest = x[len(num):]
            parts.extend([int(num), rest] if num else [rest])
    return tuple(parts)


version_info = parse_version_info(__version__)
