"""The H&M article taxonomy (real names and codes where known) with consistent hierarchies.

Sizes match the real catalogue: 131 product types in 19 product groups, 30 graphical appearances, 50 colour groups,
8 perceived colour values, 20 perceived colour masters, 299 departments in 57 sections, 10 indexes, 5 index groups,
21 garment groups. A department belongs to one section, a section to one index, an index to one index group.
The taxonomy is fixed (built from a constant seed), so every scale and seed shares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

N_DEPARTMENTS = 299
_TAXONOMY_SEED = 2018
#: The real file truncates section and department names to 30 characters ("Womens Nightwear, Socks & Tigh").
NAME_WIDTH = 30

INDEX_GROUPS = {1: "Ladieswear", 2: "Divided", 3: "Menswear", 4: "Baby/Children", 26: "Sport"}
# index code -> (name, index group)
INDEXES = {
    "A": ("Ladieswear", 1),
    "B": ("Lingeries/Tights", 1),
    "C": ("Ladies Accessories", 1),
    "D": ("Divided", 2),
    "F": ("Menswear", 3),
    "G": ("Baby Sizes 50-98", 4),
    "H": ("Children Sizes 92-140", 4),
    "I": ("Children Sizes 134-170", 4),
    "J": ("Children Accessories, Swimwear", 4),
    "S": ("Sport", 26),
}

GARMENT_GROUPS = {
    1001: "Unknown", 1002: "Jersey Basic", 1003: "Knitwear", 1005: "Jersey Fancy",
    1006: "Woven/Jersey/Knitted mix Baby", 1007: "Outdoor", 1008: "Dressed", 1009: "Trousers", 1010: "Blouses",
    1011: "Shirts", 1012: "Skirt", 1013: "Dresses Ladies", 1014: "Special Offers", 1016: "Trousers Denim",
    1017: "Under-, Nightwear", 1018: "Swimwear", 1019: "Accessories", 1020: "Shoes", 1021: "Socks and Tights",
    1023: "Dresses/Skirts girls", 1025: "Shorts",
}

# (product_type_no, name, product_group, silhouette)
PRODUCT_TYPES: list[tuple[int, str, str, str]] = [
    (245, "Cardigan", "Garment Upper body", "longsleeve"), (252, "Sweater", "Garment Upper body", "longsleeve"),
    (253, "Vest top", "Garment Upper body", "top"), (254, "Top", "Garment Upper body", "top"),
    (255, "T-shirt", "Garment Upper body", "top"), (256, "Bodysuit", "Garment Upper body", "top"),
    (257, "Polo shirt", "Garment Upper body", "top"), (258, "Blouse", "Garment Upper body", "longsleeve"),
    (259, "Shirt", "Garment Upper body", "longsleeve"), (260, "Blazer", "Garment Upper body", "outer"),
    (261, "Coat", "Garment Upper body", "outer"), (262, "Jacket", "Garment Upper body", "outer"),
    (263, "Outdoor Waistcoat", "Garment Upper body", "top"), (264, "Tailored Waistcoat", "Garment Upper body", "top"),
    (308, "Hoodie", "Garment Upper body", "longsleeve"),
    (272, "Trousers", "Garment Lower body", "trousers"), (273, "Leggings/Tights", "Garment Lower body", "trousers"),
    (274, "Shorts", "Garment Lower body", "shorts"), (275, "Skirt", "Garment Lower body", "skirt"),
    (276, "Outdoor trousers", "Garment Lower body", "trousers"),
    (265, "Dress", "Garment Full body", "dress"), (266, "Jumpsuit/Playsuit", "Garment Full body", "set"),
    (267, "Garment Set", "Garment Full body", "set"), (277, "Costumes", "Garment Full body", "set"),
    (268, "Dungarees", "Garment Full body", "set"), (269, "Outdoor overall", "Garment Full body", "set"),
    (286, "Underwear bottom", "Underwear", "underwear"), (306, "Bra", "Underwear", "bra"),
    (307, "Kids Underwear top", "Underwear", "top"), (287, "Underwear body", "Underwear", "swimsuit"),
    (288, "Underwear set", "Underwear", "set"), (289, "Underwear corset", "Underwear", "bra"),
    (290, "Long John", "Underwear", "set"), (291, "Bra extender", "Underwear", "small"),
    (292, "Nipple covers", "Underwear", "small"), (293, "Underdress", "Underwear", "dress"),
    (297, "Pyjama set", "Nightwear", "set"), (298, "Night gown", "Nightwear", "dress"),
    (299, "Pyjama jumpsuit/playsuit", "Nightwear", "set"), (300, "Pyjama bottom", "Nightwear", "trousers"),
    (301, "Robe", "Nightwear", "outer"),
    (196, "Sleep Bag", "Underwear/nightwear", "set"), (197, "Sleeping sack", "Underwear/nightwear", "set"),
    (302, "Socks", "Socks & Tights", "socks"), (304, "Underwear Tights", "Socks & Tights", "trousers"),
    (303, "Leg warmers", "Socks & Tights", "socks"),
    (57, "Swimsuit", "Swimwear", "swimsuit"), (58, "Bikini top", "Swimwear", "bra"),
    (59, "Swimwear bottom", "Swimwear", "underwear"), (60, "Swimwear set", "Swimwear", "set"),
    (61, "Swimwear top", "Swimwear", "top"), (62, "Sarong", "Swimwear", "skirt"),
    (86, "Ballerinas", "Shoes", "shoe"), (87, "Boots", "Shoes", "shoe"), (88, "Bootie", "Shoes", "shoe"),
    (89, "Flat shoe", "Shoes", "shoe"), (90, "Flip flop", "Shoes", "shoe"), (91, "Heeled sandals", "Shoes", "shoe"),
    (92, "Other shoe", "Shoes", "shoe"), (93, "Pumps", "Shoes", "shoe"), (94, "Sneakers", "Shoes", "shoe"),
    (95, "Sandals", "Shoes", "shoe"), (96, "Slippers", "Shoes", "shoe"), (97, "Wedge", "Shoes", "shoe"),
    (98, "Moccasins", "Shoes", "shoe"), (99, "Heels", "Shoes", "shoe"), (100, "Pre-walkers", "Shoes", "shoe"),
    (63, "Bracelet", "Accessories", "small"), (64, "Accessories set", "Accessories", "small"),
    (65, "Alice band", "Accessories", "hat"), (66, "Bag", "Accessories", "bag"), (67, "Belt", "Accessories", "small"),
    (68, "Braces", "Accessories", "small"), (69, "Cap/peaked", "Accessories", "hat"),
    (70, "Earring", "Accessories", "small"), (71, "Gloves", "Accessories", "small"),
    (72, "Hair clip", "Accessories", "small"), (73, "Hair string", "Accessories", "small"),
    (74, "Hair/alice band", "Accessories", "hat"), (75, "Hat/beanie", "Accessories", "hat"),
    (76, "Hat/brim", "Accessories", "hat"), (77, "Necklace", "Accessories", "small"),
    (78, "Ring", "Accessories", "small"), (79, "Scarf", "Accessories", "scarf"),
    (80, "Soft Toys", "Accessories", "box"), (81, "Sunglasses", "Accessories", "small"),
    (82, "Tie", "Accessories", "scarf"), (83, "Wallet", "Accessories", "bag"), (84, "Watch", "Accessories", "small"),
    (85, "Other accessories", "Accessories", "small"), (110, "Backpack", "Accessories", "bag"),
    (111, "Bucket hat", "Accessories", "hat"), (112, "Cross-body bag", "Accessories", "bag"),
    (113, "Eyeglasses", "Accessories", "small"), (114, "Felt hat", "Accessories", "hat"),
    (115, "Hairband", "Accessories", "hat"), (116, "Headband", "Accessories", "hat"),
    (117, "Jewellery Set", "Accessories", "small"), (118, "Shoulder bag", "Accessories", "bag"),
    (119, "Straw hat", "Accessories", "hat"), (120, "Tote bag", "Accessories", "bag"),
    (121, "Hair ties", "Accessories", "small"), (122, "Baby Bib", "Accessories", "scarf"),
    (123, "Beanie", "Accessories", "hat"), (124, "Cap", "Accessories", "hat"), (125, "Mittens", "Accessories", "small"),
    (126, "Balaclava", "Accessories", "hat"), (127, "Brooch", "Accessories", "small"),
    (-1, "Unknown", "Unknown", "box"),
    (508, "Fine cosmetics", "Cosmetic", "box"), (509, "Chem. cosmetics", "Cosmetic", "box"),
    (512, "Bumbag", "Bags", "bag"), (513, "Weekend/Gym bag", "Bags", "bag"),
    (532, "Umbrella", "Items", "box"), (533, "Mobile case", "Items", "box"), (534, "Keychain", "Items", "small"),
    (535, "Waterbottle", "Items", "box"), (536, "Wood balls", "Items", "small"), (537, "Dog Wear", "Items", "top"),
    (538, "Zipper head", "Items", "small"),
    (540, "Side table", "Furniture", "box"), (541, "Hanger", "Furniture", "small"),
    (545, "Blanket", "Interior textile", "box"), (546, "Towel", "Interior textile", "box"),
    (547, "Cushion", "Interior textile", "box"),
    (550, "Stain remover spray", "Garment and Shoe care", "box"),
    (551, "Clothing mist", "Garment and Shoe care", "box"),
    (552, "Sewing kit", "Garment and Shoe care", "box"),
    (555, "Marker pen", "Stationery", "small"), (556, "Giftbox", "Stationery", "box"),
    (560, "Toy", "Fun", "box"),
]

# (graphical_appearance_no, name, pattern used by the image renderer)
GRAPHICAL_APPEARANCES: list[tuple[int, str, str]] = [
    (1010001, "All over pattern", "allover"), (1010002, "Application/3D", "print"), (1010003, "Argyle", "check"),
    (1010004, "Check", "check"), (1010005, "Colour blocking", "blocks"), (1010006, "Dot", "dot"),
    (1010007, "Embroidery", "print"), (1010008, "Front print", "print"), (1010009, "Glittering/Metallic", "sparkle"),
    (1010010, "Melange", "melange"), (1010011, "Jacquard", "allover"), (1010012, "Lace", "mesh"),
    (1010013, "Other pattern", "allover"), (1010014, "Placement print", "print"), (1010015, "Sequin", "sparkle"),
    (1010016, "Solid", "solid"), (1010017, "Stripe", "stripe"), (1010018, "Treatment", "melange"),
    (1010019, "Chambray", "denim"), (1010020, "Contrast", "blocks"), (1010021, "Mixed solid/pattern", "blocks"),
    (1010022, "Transparent", "mesh"), (1010023, "Denim", "denim"), (1010024, "Metallic", "sparkle"),
    (1010025, "Hologram", "sparkle"), (1010026, "Other structure", "melange"), (1010027, "Neps", "melange"),
    (1010028, "Slub", "melange"), (1010029, "Mesh", "mesh"), (-1, "Unknown", "solid"),
]
#: Relative frequency of each appearance (Solid dominates, as in the real catalogue).
_APPEARANCE_WEIGHT = {"Solid": 49.0, "All over pattern": 17.0, "Melange": 5.0, "Stripe": 4.9, "Denim": 4.5,
                      "Front print": 3.0, "Placement print": 1.6, "Check": 1.3, "Lace": 1.0, "Colour blocking": 0.6,
                      "Embroidery": 0.6, "Application/3D": 0.5, "Dot": 0.8, "Jacquard": 0.5}

PERCEIVED_VALUES = {-1: "Unknown", 1: "Dusty Light", 2: "Medium Dusty", 3: "Light", 4: "Dark", 5: "Bright",
                    6: "Undefined", 7: "Medium"}
PERCEIVED_MASTERS = {-1: "Unknown", 1: "Mole", 2: "Blue", 3: "Orange", 4: "Pink", 5: "Black", 6: "Lilac Purple",
                     7: "Turquoise", 8: "Yellow", 9: "White", 10: "undefined", 11: "Beige", 12: "Grey", 13: "Brown",
                     14: "Yellowish Green", 15: "Metal", 16: "Bluish Green", 18: "Red", 19: "Green", 20: "Khaki green"}

# (colour_group_code, name, (r, g, b), perceived master, perceived value, relative frequency)
COLOUR_GROUPS: list[tuple[int, str, tuple[int, int, int], int, int, float]] = [
    (9, "Black", (20, 20, 22), 5, 4, 22.0), (10, "White", (245, 245, 242), 9, 3, 9.5),
    (11, "Off White", (236, 230, 214), 9, 1, 3.0), (12, "Light Beige", (226, 208, 180), 11, 1, 3.0),
    (13, "Beige", (200, 175, 140), 11, 2, 2.7), (14, "Dark Beige", (160, 135, 100), 11, 4, 1.0),
    (15, "Greyish Beige", (176, 165, 150), 1, 2, 1.0), (17, "Yellowish Brown", (150, 100, 40), 13, 2, 1.5),
    (19, "Greenish Khaki", (110, 110, 70), 20, 2, 2.2), (1, "Other", (150, 120, 150), 10, 6, 0.1),
    (2, "Transparent", (225, 225, 230), 10, 6, 0.05), (3, "Silver", (192, 192, 198), 15, 3, 0.9),
    (4, "Bronze/Copper", (176, 110, 60), 15, 7, 0.2), (5, "Gold", (212, 175, 55), 15, 5, 1.3),
    (6, "Light Grey", (200, 200, 200), 12, 3, 2.0), (7, "Grey", (128, 128, 128), 12, 7, 4.2),
    (8, "Dark Grey", (70, 70, 72), 12, 4, 2.0), (20, "Other Yellow", (230, 200, 90), 8, 7, 0.1),
    (21, "Light Yellow", (250, 240, 150), 8, 3, 0.7), (22, "Yellow", (245, 210, 30), 8, 5, 1.7),
    (23, "Dark Yellow", (200, 160, 20), 8, 4, 0.5), (30, "Other Orange", (230, 140, 80), 3, 7, 0.1),
    (31, "Light Orange", (250, 180, 130), 3, 3, 0.7), (32, "Orange", (240, 120, 30), 3, 5, 0.9),
    (33, "Dark Orange", (200, 80, 20), 18, 4, 0.5), (40, "Other Red", (200, 60, 70), 18, 7, 0.1),
    (41, "Light Red", (240, 110, 110), 18, 3, 0.3), (42, "Red", (200, 20, 30), 18, 5, 2.8),
    (43, "Dark Red", (120, 20, 30), 18, 4, 1.8), (50, "Other Pink", (230, 130, 170), 4, 7, 0.2),
    (51, "Light Pink", (245, 195, 205), 4, 1, 4.1), (52, "Pink", (235, 120, 160), 4, 5, 1.7),
    (53, "Dark Pink", (180, 60, 110), 4, 4, 0.6), (60, "Other Purple", (150, 100, 170), 6, 7, 0.1),
    (61, "Light Purple", (200, 170, 220), 6, 3, 0.7), (62, "Purple", (120, 60, 150), 6, 5, 0.3),
    (63, "Dark Purple", (70, 30, 80), 6, 4, 0.3), (70, "Other Blue", (90, 130, 190), 2, 7, 0.1),
    (71, "Light Blue", (160, 195, 230), 2, 3, 3.0), (72, "Blue", (40, 90, 190), 2, 5, 3.5),
    (73, "Dark Blue", (25, 35, 80), 2, 4, 11.0), (80, "Other Turquoise", (60, 180, 170), 7, 7, 0.05),
    (81, "Light Turquoise", (150, 225, 215), 7, 3, 0.4), (82, "Turquoise", (20, 170, 160), 7, 5, 0.3),
    (83, "Dark Turquoise", (10, 100, 100), 16, 4, 0.3), (90, "Other Green", (110, 170, 90), 19, 7, 0.1),
    (91, "Light Green", (170, 220, 150), 14, 3, 0.7), (92, "Green", (50, 150, 60), 19, 5, 0.7),
    (93, "Dark Green", (30, 80, 40), 19, 4, 1.5), (-1, "Unknown", (160, 160, 160), -1, -1, 0.03),
]

# category -> (garment group, {product type name: weight}, department name stems)
CATEGORIES: dict[str, tuple[int, dict[str, float], tuple[str, ...]]] = {
    "jersey_basic": (1002, {"T-shirt": 5, "Top": 4, "Vest top": 4, "Bodysuit": 1, "Leggings/Tights": 1},
                     ("Jersey Basic", "Basic 1", "Tops Basic")),
    "jersey_fancy": (1005, {"Top": 4, "T-shirt": 4, "Hoodie": 2, "Sweater": 2, "Vest top": 1, "Polo shirt": 0.5},
                     ("Jersey", "Jersey Fancy", "Tops Fancy Jersey")),
    "knit": (1003, {"Sweater": 5, "Cardigan": 2}, ("Knitwear", "Tops Knitwear")),
    "blouse": (1010, {"Blouse": 5, "Shirt": 2, "Top": 1}, ("Blouse", "Tops Woven")),
    "shirts": (1011, {"Shirt": 5, "Polo shirt": 1}, ("Shirt", "Shirts")),
    "trousers": (1009, {"Trousers": 6, "Leggings/Tights": 1, "Outdoor trousers": 0.5, "Shorts": 1},
                 ("Trousers", "Trouser", "Woven bottoms")),
    "shorts": (1025, {"Shorts": 5}, ("Shorts",)),
    "denim": (1016, {"Trousers": 6, "Shorts": 2, "Skirt": 1, "Jacket": 1, "Dungarees": 0.3},
              ("Denim Trousers", "Denim Other Garments", "Everyday Waredrobe Denim")),
    "dresses": (1013, {"Dress": 6, "Jumpsuit/Playsuit": 1.5, "Costumes": 0.1}, ("Dress", "Dresses")),
    "girls_dresses": (1023, {"Dress": 5, "Skirt": 2}, ("Dresses & Skirts", "Dress")),
    "skirts": (1012, {"Skirt": 5}, ("Skirt",)),
    "outdoor": (1007, {"Jacket": 5, "Coat": 2, "Blazer": 1, "Outdoor Waistcoat": 0.5, "Outdoor overall": 0.5,
                       "Outdoor trousers": 0.3}, ("Outdoor/Blazers", "Jackets", "Outerwear")),
    "dressed": (1008, {"Blazer": 3, "Trousers": 3, "Shirt": 1, "Dress": 1, "Tailored Waistcoat": 0.5, "Tie": 0.3},
                ("Tailoring", "Suit", "Trouser S&T")),
    "underwear": (1017, {"Bra": 4, "Underwear bottom": 5, "Underwear body": 0.5, "Underwear set": 0.5,
                         "Underwear corset": 0.1, "Bra extender": 0.05, "Nipple covers": 0.05, "Underdress": 0.1,
                         "Kids Underwear top": 0.5, "Long John": 0.1},
                  ("Clean Lingerie", "Casual Lingerie", "Expressive Lingerie", "UW")),
    "underwear_men": (1017, {"Underwear bottom": 5, "Long John": 0.3, "T-shirt": 1, "Vest top": 1}, ("Underwear",)),
    "nightwear": (1017, {"Pyjama set": 4, "Night gown": 1, "Pyjama jumpsuit/playsuit": 1, "Pyjama bottom": 1,
                         "Robe": 0.5, "Sleep Bag": 0.1, "Sleeping sack": 0.1}, ("Nightwear", "UW/NW")),
    "socks_tights": (1021, {"Socks": 5, "Underwear Tights": 2, "Leg warmers": 0.2},
                     ("Tights basic", "Socks", "Shopbasket Socks", "Socks Bin", "S&T")),
    "swimwear": (1018, {"Bikini top": 4, "Swimwear bottom": 4, "Swimsuit": 2, "Swimwear set": 0.5,
                        "Swimwear top": 0.3, "Sarong": 0.2}, ("Swimwear",)),
    "shoes": (1020, {"Sneakers": 4, "Boots": 2, "Sandals": 2, "Ballerinas": 1, "Other shoe": 1, "Pumps": 0.5,
                     "Heeled sandals": 1, "Flat shoe": 1, "Slippers": 0.5, "Flip flop": 0.3, "Wedge": 0.3,
                     "Bootie": 0.3, "Moccasins": 0.2, "Heels": 0.5, "Pre-walkers": 0.2},
              ("Shoes", "Flats", "Sneakers", "Heels")),
    "jewellery": (1019, {"Earring": 5, "Necklace": 3, "Bracelet": 1, "Ring": 1, "Jewellery Set": 0.3, "Watch": 0.2,
                         "Brooch": 0.1}, ("Jewellery", "Small Accessories")),
    "hair": (1019, {"Hair/alice band": 2, "Hair clip": 2, "Hair string": 2, "Alice band": 0.3, "Hairband": 0.3,
                    "Headband": 0.3, "Hair ties": 0.3}, ("Hair Accessories",)),
    "bags": (1019, {"Bag": 5, "Backpack": 1, "Cross-body bag": 1, "Shoulder bag": 1, "Tote bag": 1, "Wallet": 0.5,
                    "Bumbag": 0.2, "Weekend/Gym bag": 0.2}, ("Bags",)),
    "hats": (1019, {"Hat/beanie": 3, "Hat/brim": 1, "Cap/peaked": 2, "Scarf": 2, "Gloves": 1, "Mittens": 0.3,
                    "Balaclava": 0.1, "Straw hat": 0.3, "Felt hat": 0.2, "Bucket hat": 0.3, "Beanie": 0.2,
                    "Cap": 0.2}, ("Gloves/Hats", "Hats & Scarves")),
    "other_acc": (1019, {"Belt": 2, "Sunglasses": 2, "Eyeglasses": 0.2, "Tie": 0.5, "Braces": 0.1, "Umbrella": 0.2,
                         "Other accessories": 1, "Accessories set": 0.3, "Mobile case": 0.1, "Keychain": 0.1,
                         "Waterbottle": 0.1}, ("Accessories", "Belts", "Sunglasses", "Other items")),
    "cosmetic": (1019, {"Fine cosmetics": 1, "Chem. cosmetics": 1}, ("Beauty",)),
    "baby_mix": (1006, {"Garment Set": 4, "Bodysuit": 3, "Trousers": 2, "Sweater": 1, "Top": 1, "Dungarees": 0.5,
                        "Baby Bib": 0.3, "Long John": 0.3, "Sleep Bag": 0.1}, ("Baby basics", "Baby Jersey", "Woven")),
    "toys": (1019, {"Soft Toys": 1, "Toy": 0.3, "Wood balls": 0.1}, ("Toys",)),
    "interior": (1001, {"Cushion": 1, "Blanket": 1, "Towel": 1, "Side table": 0.3, "Hanger": 0.3}, ("Home",)),
    "care": (1001, {"Stain remover spray": 1, "Clothing mist": 1, "Sewing kit": 1, "Zipper head": 0.5,
                    "Dog Wear": 0.5, "Marker pen": 0.3, "Giftbox": 0.3}, ("Care & Gifts",)),
    "special": (1014, {"Top": 2, "Dress": 2, "Trousers": 2, "T-shirt": 2, "Sweater": 1, "Unknown": 1},
                ("EQ & Special Collections", "Special Collection", "Campaigns")),
    "sport": (1005, {"Leggings/Tights": 3, "Top": 2, "T-shirt": 2, "Bra": 1, "Jacket": 1, "Shorts": 1,
                     "Trousers": 1, "Hoodie": 1, "Socks": 0.5}, ("Sport Bottoms", "Sport Tops", "Sport Woven")),
}

# (section_no, name, index_code, categories, relative size, department name prefix)
SECTIONS: list[tuple[int, str, str, tuple[str, ...], float, str]] = [
    (2, "H&M+", "A", ("jersey_fancy", "knit", "trousers", "dresses", "blouse"), 1.0, "H&M+"),
    (6, "Womens Casual", "A", ("jersey_fancy", "trousers", "dresses", "knit", "blouse"), 1.5, ""),
    (8, "Mama", "A", ("jersey_basic", "trousers", "dresses", "underwear"), 0.6, "Mama"),
    (9, "Ladies Other", "A", ("special",), 0.2, "Ladies"),
    (11, "Womens Tailoring", "A", ("dressed", "trousers", "blouse", "outdoor"), 2.0, "Tailoring"),
    (14, "Collaborations", "A", ("special", "dresses"), 0.4, "Collab"),
    (15, "Womens Everyday Collection", "A", ("knit", "trousers", "blouse", "dresses", "skirts", "outdoor"), 2.5, ""),
    (16, "Womens Everyday Basics", "A", ("jersey_basic",), 1.2, ""),
    (17, "Womens Jackets", "A", ("outdoor",), 0.6, "Ladies"),
    (18, "Womens Trend", "A", ("jersey_fancy", "dresses", "skirts", "blouse", "knit"), 1.8, "Trend"),
    (19, "Womens Premium", "A", ("dressed", "knit", "outdoor"), 0.5, "Premium"),
    (20, "Special Collections", "A", ("special",), 0.3, ""),
    (57, "Ladies Denim", "A", ("denim",), 1.2, ""),
    (60, "Womens Swimwear, beachwear", "B", ("swimwear",), 1.2, ""),
    (61, "Womens Lingerie", "B", ("underwear",), 1.6, ""),
    (62, "Womens Nightwear, Socks & Tights", "B", ("nightwear", "socks_tights"), 1.2, ""),
    (64, "Womens Shoes", "C", ("shoes",), 1.0, ""),
    (65, "Womens Big accessories", "C", ("bags", "hats"), 0.9, ""),
    (66, "Womens Small accessories", "C", ("jewellery", "hair", "other_acc"), 1.3, ""),
    (67, "Womens Beauty", "C", ("cosmetic",), 0.1, ""),
    (51, "Divided Basics", "D", ("jersey_basic", "underwear"), 1.0, "Divided"),
    (52, "Divided Accessories", "D", ("jewellery", "bags", "shoes", "hats"), 0.9, "Divided"),
    (53, "Divided Collection", "D", ("jersey_fancy", "dresses", "trousers", "knit", "outdoor", "skirts", "shorts"),
     2.2, ""),
    (54, "Divided Projects", "D", ("jersey_fancy", "dresses"), 0.5, "Divided Projects"),
    (55, "Divided Complements Other", "D", ("interior", "care", "toys"), 0.1, "Divided"),
    (58, "Divided Selected", "D", ("trousers", "shorts", "jersey_fancy", "knit"), 1.0, "DS"),
    (21, "Contemporary Casual", "F", ("trousers", "shirts", "knit", "jersey_fancy"), 0.8, "Men"),
    (23, "Men Suits & Tailoring", "F", ("dressed", "shirts", "trousers"), 0.6, "Men"),
    (24, "Mens Outerwear", "F", ("outdoor",), 0.4, "Men"),
    (25, "Men Accessories", "F", ("hats", "bags", "jewellery", "other_acc"), 0.5, "Men"),
    (26, "Men Underwear", "F", ("underwear_men", "socks_tights", "nightwear"), 0.6, "Men"),
    (27, "Men Shoes", "F", ("shoes",), 0.3, "Men"),
    (28, "Contemporary Smart", "F", ("shirts", "knit", "trousers"), 0.6, "Men Smart"),
    (29, "Contemporary Street", "F", ("jersey_fancy", "trousers", "shorts"), 0.6, "Men Street"),
    (30, "Men Edition", "F", ("knit", "shirts"), 0.3, "Men Edition"),
    (31, "Men Project", "F", ("jersey_fancy", "outdoor"), 0.3, "Men Project"),
    (32, "Denim Men", "F", ("denim",), 0.5, "Men"),
    (33, "Men Other", "F", ("special",), 0.1, "Men"),
    (34, "Men Other 2", "F", ("care", "interior"), 0.05, "Men"),
    (36, "Men Swimwear", "F", ("swimwear",), 0.2, "Men"),
    (40, "Baby Boy", "G", ("baby_mix",), 0.8, "Baby Boy"),
    (41, "Baby Girl", "G", ("baby_mix", "girls_dresses"), 0.8, "Baby Girl"),
    (44, "Baby Essentials & Complements", "G", ("baby_mix", "socks_tights", "nightwear", "toys"), 0.7, "Baby"),
    (45, "Kids Boy", "H", ("jersey_fancy", "trousers", "shorts", "outdoor", "knit"), 0.9, "Kids Boy"),
    (46, "Kids Girl", "H", ("jersey_fancy", "girls_dresses", "trousers", "knit"), 1.0, "Kids Girl"),
    (48, "Kids Outerwear", "H", ("outdoor",), 0.4, "Kids"),
    (49, "Kids & Baby Shoes", "H", ("shoes",), 0.3, "Kids"),
    (70, "Kids Sports", "H", ("sport",), 0.2, "Kids"),
    (79, "Girls Underwear & Basics", "H", ("underwear", "nightwear", "socks_tights", "jersey_basic"), 0.6,
     "Kids Girl"),
    (47, "Young Boy", "I", ("jersey_fancy", "trousers", "denim", "knit", "shorts"), 0.7, "Young Boy"),
    (72, "Boys Underwear & Basics", "I", ("underwear_men", "socks_tights", "jersey_basic", "nightwear"), 0.5,
     "Young Boy"),
    (76, "Young Girl", "I", ("jersey_fancy", "girls_dresses", "trousers", "knit", "skirts"), 0.8, "Young Girl"),
    (77, "Young Sports", "I", ("sport",), 0.1, "Young"),
    (43, "Kids Accessories, Swimwear & D", "J", ("swimwear", "hats", "jewellery", "bags", "other_acc", "toys"), 0.7,
     "Kids"),
    (42, "Kids Local Relevance", "J", ("jersey_fancy", "special"), 0.2, "Kids Local"),
    (5, "Ladies H&M Sport", "S", ("sport", "shoes", "bags"), 0.7, "Ladies Sport"),
    (22, "Men H&M Sport", "S", ("sport",), 0.3, "Men Sport"),
]


@dataclass(frozen=True)
class Taxonomy:
    """All lookup tables as numpy arrays; article columns index into them."""

    product_type_no: np.ndarray
    product_type_name: np.ndarray  # object arrays of str
    product_group_name: np.ndarray
    product_type_shape: np.ndarray
    appearance_no: np.ndarray
    appearance_name: np.ndarray
    appearance_pattern: np.ndarray
    appearance_weight: np.ndarray
    colour_code: np.ndarray
    colour_name: np.ndarray
    colour_rgb: np.ndarray  # (n, 3) uint8
    colour_master: np.ndarray  # index into master_id
    colour_value: np.ndarray  # index into value_id
    colour_weight: np.ndarray
    value_id: np.ndarray
    value_name: np.ndarray
    master_id: np.ndarray
    master_name: np.ndarray
    index_code: np.ndarray
    index_name: np.ndarray
    index_group: np.ndarray  # index into index_group_no
    index_group_no: np.ndarray
    index_group_name: np.ndarray
    section_no: np.ndarray
    section_name: np.ndarray
    section_index: np.ndarray  # index into index_code
    garment_group_no: np.ndarray
    garment_group_name: np.ndarray
    dept_no: np.ndarray
    dept_name: np.ndarray
    dept_section: np.ndarray  # index into section_no
    dept_garment_group: np.ndarray  # index into garment_group_no
    dept_weight: np.ndarray  # relative popularity / catalogue share, sums to 1
    dept_type_offsets: np.ndarray  # CSR over (product type index, weight) per department
    dept_type_index: np.ndarray
    dept_type_cumweight: np.ndarray  # per-department cumulative weights, each block ending in 1.0

    @property
    def dept_index_group(self) -> np.ndarray:
        """Index-group position of every department (department -> section -> index -> index group)."""
        return self.index_group[self.section_index[self.dept_section]]

    def sizes(self) -> dict[str, int]:
        return {
            "product_types": len(self.product_type_no),
            "product_groups": len(set(self.product_group_name)),
            "graphical_appearances": len(self.appearance_no),
            "colour_groups": len(self.colour_code),
            "perceived_colour_values": len(self.value_id),
            "perceived_colour_masters": len(self.master_id),
            "departments": len(self.dept_no),
            "indexes": len(self.index_code),
            "index_groups": len(self.index_group_no),
            "sections": len(self.section_no),
            "garment_groups": len(self.garment_group_no),
        }


def _obj(values) -> np.ndarray:
    return np.array(list(values), dtype=object)


def _allocate_departments(rng: np.random.Generator) -> list[tuple[int, str]]:
    """(section position, category) per department: one per pair, the rest by section size, N_DEPARTMENTS total."""
    pairs = [(s, cat) for s, sec in enumerate(SECTIONS) for cat in sec[3]]
    extra = N_DEPARTMENTS - len(pairs)
    weights = np.array([SECTIONS[s][4] / len(SECTIONS[s][3]) for s, _ in pairs])
    counts = np.ones(len(pairs), dtype=np.int64) + rng.multinomial(extra, weights / weights.sum())
    return [pair for pair, k in zip(pairs, counts) for _ in range(k)]


@lru_cache(maxsize=1)
def build_taxonomy() -> Taxonomy:
    """The fixed taxonomy (cached)."""
    rng = np.random.default_rng(_TAXONOMY_SEED)
    type_pos = {name: i for i, (_, name, _, _) in enumerate(PRODUCT_TYPES)}
    idx_codes = list(INDEXES)
    ig_nos = list(INDEX_GROUPS)
    gg_nos = list(GARMENT_GROUPS)
    masters = list(PERCEIVED_MASTERS)
    values = list(PERCEIVED_VALUES)

    depts = _allocate_departments(rng)
    dept_nos = np.sort(rng.choice(np.arange(1200, 9990), size=len(depts), replace=False))
    names, seen = [], set()
    offsets, type_index, type_cum = [0], [], []
    dept_gg, dept_section = [], []
    for s, cat in depts:
        gg, types, stems = CATEGORIES[cat]
        prefix = SECTIONS[s][5]
        stem = stems[int(rng.integers(len(stems)))]
        base = f"{prefix} {stem}".strip()
        name, k = base, 2
        while name in seen:
            name, k = f"{base} {k}", k + 1
        seen.add(name)
        names.append(name[:NAME_WIDTH])
        w = np.array(list(types.values()), dtype=np.float64) * rng.lognormal(0.0, 0.3, len(types))
        type_index.extend(type_pos[t] for t in types)
        type_cum.extend(np.cumsum(w) / w.sum())
        offsets.append(len(type_index))
        dept_gg.append(gg_nos.index(gg))
        dept_section.append(s)
    sec_size = np.array([SECTIONS[s][4] / len(SECTIONS[s][3]) for s, _ in depts])
    pair_ids = _pair_ids(depts)
    dept_weight = sec_size / np.bincount(pair_ids)[pair_ids] * rng.lognormal(0.0, 0.6, len(depts))
    dept_weight /= dept_weight.sum()

    missing = set(type_pos) - {PRODUCT_TYPES[i][1] for i in type_index}
    assert not missing, f"product types not reachable from any department: {sorted(missing)}"

    weights = np.array([_APPEARANCE_WEIGHT.get(name, 0.08) for _, name, _ in GRAPHICAL_APPEARANCES])
    return Taxonomy(
        product_type_no=np.array([t[0] for t in PRODUCT_TYPES], dtype=np.int32),
        product_type_name=_obj(t[1] for t in PRODUCT_TYPES),
        product_group_name=_obj(t[2] for t in PRODUCT_TYPES),
        product_type_shape=_obj(t[3] for t in PRODUCT_TYPES),
        appearance_no=np.array([g[0] for g in GRAPHICAL_APPEARANCES], dtype=np.int32),
        appearance_name=_obj(g[1] for g in GRAPHICAL_APPEARANCES),
        appearance_pattern=_obj(g[2] for g in GRAPHICAL_APPEARANCES),
        appearance_weight=weights / weights.sum(),
        colour_code=np.array([c[0] for c in COLOUR_GROUPS], dtype=np.int32),
        colour_name=_obj(c[1] for c in COLOUR_GROUPS),
        colour_rgb=np.array([c[2] for c in COLOUR_GROUPS], dtype=np.uint8),
        colour_master=np.array([masters.index(c[3]) for c in COLOUR_GROUPS], dtype=np.int32),
        colour_value=np.array([values.index(c[4]) for c in COLOUR_GROUPS], dtype=np.int32),
        colour_weight=(cw := np.array([c[5] for c in COLOUR_GROUPS])) / cw.sum(),
        value_id=np.array(values, dtype=np.int32),
        value_name=_obj(PERCEIVED_VALUES.values()),
        master_id=np.array(masters, dtype=np.int32),
        master_name=_obj(PERCEIVED_MASTERS.values()),
        index_code=_obj(idx_codes),
        index_name=_obj(v[0] for v in INDEXES.values()),
        index_group=np.array([ig_nos.index(v[1]) for v in INDEXES.values()], dtype=np.int32),
        index_group_no=np.array(ig_nos, dtype=np.int32),
        index_group_name=_obj(INDEX_GROUPS.values()),
        section_no=np.array([s[0] for s in SECTIONS], dtype=np.int32),
        section_name=_obj(s[1][:NAME_WIDTH] for s in SECTIONS),
        section_index=np.array([idx_codes.index(s[2]) for s in SECTIONS], dtype=np.int32),
        garment_group_no=np.array(gg_nos, dtype=np.int32),
        garment_group_name=_obj(GARMENT_GROUPS.values()),
        dept_no=dept_nos.astype(np.int32),
        dept_name=_obj(names),
        dept_section=np.array(dept_section, dtype=np.int32),
        dept_garment_group=np.array(dept_gg, dtype=np.int32),
        dept_weight=dept_weight,
        dept_type_offsets=np.array(offsets, dtype=np.int64),
        dept_type_index=np.array(type_index, dtype=np.int32),
        dept_type_cumweight=np.array(type_cum, dtype=np.float64),
    )


def _pair_ids(depts: list[tuple[int, str]]) -> np.ndarray:
    """Dense id of each department's (section, category) pair."""
    ids: dict[tuple[int, str], int] = {}
    return np.array([ids.setdefault(p, len(ids)) for p in depts], dtype=np.int64)
