"""The graph model (one database): node labels with their key and properties, relationship tables.

The seed's model, with its fixes: every purchase is its own PURCHASED edge, HAS_GARMENT_GROUP starts at the
Product (the seed loaded it from Index but queried it from Product), a blank age stays null.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSpec:
    """A node label: `key` is its unique property, `properties` every property in table-column order (key first)."""

    label: str
    key: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class RelSpec:
    """One relationship table: edges of `type` from `source` to `target` label.

    `name` tells tables apart when one type joins several label pairs (SUBSET_OF). Its Arrow table has the columns
    `source` (the source node's key), `target` (the target node's key), then `properties`.
    """

    name: str
    type: str
    source: str
    target: str
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """A product attribute that becomes its own node: label, key property, the articles columns that feed it, and
    the relationship that reaches it (from the Product, or from another taxonomy node)."""

    label: str
    key: str
    key_column: str
    name_column: str
    rel_type: str
    parent: str = "Product"


TAXONOMY: tuple[Taxonomy, ...] = (
    Taxonomy("ProductType", "number", "product_type_no", "product_type_name", "SUBSET_OF"),
    Taxonomy("ProductGroup", "name", "product_group_name", "product_group_name", "SUBSET_OF", parent="ProductType"),
    Taxonomy("GraphicalAppearance", "number", "graphical_appearance_no", "graphical_appearance_name",
             "HAS_APPEARANCE_TYPE"),
    Taxonomy("ColourGroup", "code", "colour_group_code", "colour_group_name", "HAS_COLOUR"),
    Taxonomy("PerceivedColourValue", "id", "perceived_colour_value_id", "perceived_colour_value_name",
             "HAS_COLOUR_VALUE"),
    Taxonomy("PerceivedColourMaster", "id", "perceived_colour_master_id", "perceived_colour_master_name",
             "HAS_MASTER_COLOUR"),
    Taxonomy("Department", "number", "department_no", "department_name", "FROM_DEPARTMENT"),
    Taxonomy("Section", "number", "section_no", "section_name", "FROM_SECTION", parent="Department"),
    Taxonomy("Index", "code", "index_code", "index_name", "HAS_INDEX"),
    Taxonomy("IndexGroup", "number", "index_group_no", "index_group_name", "HAS_GROUP", parent="Index"),
    Taxonomy("GarmentGroup", "number", "garment_group_no", "garment_group_name", "HAS_GARMENT_GROUP"),
)
TAXONOMY_BY_LABEL = {t.label: t for t in TAXONOMY}

PRODUCT = NodeSpec("Product", "code", ("code", "idx", "name", "description"))
CUSTOMER = NodeSpec(
    "Customer",
    "id",
    ("id", "idx", "fn", "active", "club_member_status", "fashion_news_frequency", "age", "postal_code"),
)
AGE_GROUP = NodeSpec("AgeGroup", "name", ("name", "lower", "upper"))


def _taxonomy_node(t: Taxonomy) -> NodeSpec:
    return NodeSpec(t.label, t.key, (t.key,) if t.key == "name" else (t.key, "name"))


def _taxonomy_rel(t: Taxonomy) -> RelSpec:
    name = t.rel_type if t.rel_type != "SUBSET_OF" else f"SUBSET_OF_{t.label.upper()}"
    return RelSpec(name, t.rel_type, t.parent, t.label)


#: The product/customer/purchase graph `product_graph` builds, in load order (nodes before relationships).
GRAPH_NODES: tuple[NodeSpec, ...] = (PRODUCT, *(_taxonomy_node(t) for t in TAXONOMY), CUSTOMER)
PURCHASED = RelSpec("PURCHASED", "PURCHASED", "Customer", "Product", ("t_date", "price", "sales_channel"))
GRAPH_RELS: tuple[RelSpec, ...] = (*(_taxonomy_rel(t) for t in TAXONOMY), PURCHASED)

#: What `age_groups` adds on top.
IS_AGE_GROUP = RelSpec("IS_AGE_GROUP", "IS_AGE_GROUP", "Customer", "AgeGroup")
AGE_NODES: tuple[NodeSpec, ...] = (AGE_GROUP,)
AGE_RELS: tuple[RelSpec, ...] = (IS_AGE_GROUP,)

#: What `similar_graph` adds on top: the top-k image neighbours of each product (rank 1 = most similar).
SIMILAR = RelSpec("SIMILAR", "SIMILAR", "Product", "Product", ("score", "rank"))
SIMILAR_RELS: tuple[RelSpec, ...] = (SIMILAR,)

#: Image embeddings (optional, `similar_graph` with `store_embeddings`). The embedded engine keeps them in their own
#: node table keyed by the Product code, bulk-loaded with COPY as FLOAT[2048] (a column added to Product would
#: have to be filled with one SET per row); Neo4j keeps them as the `embedding` list property of the Product.
EMBEDDING = "embedding"
EMBEDDING_DIM = 2048
PRODUCT_EMBEDDING = NodeSpec("ProductEmbedding", "code", ("code", EMBEDDING))
