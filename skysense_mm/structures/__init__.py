from .rotated_boxes import polygon_area, qboxes_to_rboxes, rboxes_to_qboxes

__all__ = ['polygon_area', 'qboxes_to_rboxes', 'rboxes_to_qboxes']
