from .series_classifier import SeriesClsDataPreprocessor, SkySenseClassifier

__all__ = ['SkySenseClassifier', 'SeriesClsDataPreprocessor']
