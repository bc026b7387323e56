"""Registration of all skysense_mm modules."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every skysense_mm module so that it is registered.

    Args:
        init_default_scope (bool): Whether to make ``skysense_mm`` the
            default scope. Configs of MMSegmentation, MMDetection, MMRotate
            or MMPretrain keep their own ``default_scope`` and reach our
            modules as ``skysense_mm.<Name>`` instead. Defaults to True.
    """
    import skysense_mm.datasets  # noqa: F401
    import skysense_mm.engine  # noqa: F401
    import skysense_mm.evaluation  # noqa: F401
    import skysense_mm.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('skysense_mm', scope_name='skysense_mm')
    elif current.scope_name != 'skysense_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "skysense_mm"; a new one is made for skysense_mm.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S.%f')
        DefaultScope.get_instance(
            f'skysense_mm-{stamp}', scope_name='skysense_mm')
