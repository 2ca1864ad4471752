"""Licence hints for the crawler: the rules live in mmedc.extract.licence, shared with the PDF reader
(so that mmedc.extract never imports mmedc.crawl); re-exported here for the crawler and its callers."""
from mmedc.extract.licence import (CC_NAME, CC_URL, MAX_HINT, MAX_XMP, MENTIONS, META_NAMES, PDF_FIELDS,  # noqa: F401
                                   XMP_TAGS, licence_of_text, page_licence, pdf_doc_licence, pdf_licence)
