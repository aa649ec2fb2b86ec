"""Vocabulary of the demo data set: common French names, places, streets and lines of business."""
from __future__ import annotations

MALE_FIRST_NAMES = (
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Jacques", "Bernard", "Daniel", "Patrick",
    "Nicolas", "Christophe", "Stéphane", "Laurent", "Julien", "Thomas", "Maxime", "Alexandre", "Antoine",
    "Kévin", "Lucas", "Hugo", "Théo", "Mathieu", "Romain", "Sébastien", "Olivier", "François", "David", "Éric",
    "Frédéric", "Guillaume", "Vincent", "Karim", "Mohamed", "Yassine", "Mamadou", "Louis", "Gabriel", "Arthur",
    "Léo", "Nathan", "Paul", "Raphaël", "Benoît", "Cédric", "Jérôme", "Thierry", "Pascal", "Yves", "Loïc",
    "Gaëtan", "Hervé", "Denis", "Serge", "Bruno", "Didier", "Florian", "Quentin", "Adrien",
)
FEMALE_FIRST_NAMES = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Martine", "Christine", "Sandrine",
    "Valérie", "Céline", "Stéphanie", "Sophie", "Aurélie", "Julie", "Camille", "Laura", "Manon", "Léa", "Chloé",
    "Emma", "Inès", "Sarah", "Élodie", "Émilie", "Pauline", "Mathilde", "Claire", "Anne", "Monique", "Brigitte",
    "Patricia", "Véronique", "Hélène", "Laetitia", "Fatima", "Amina", "Nadia", "Aïcha", "Fatoumata", "Louise",
    "Jade", "Alice", "Lina", "Chantal", "Nicole", "Jacqueline", "Annie", "Agnès", "Margaux", "Océane", "Gaëlle",
    "Noémie", "Justine", "Corinne", "Karine", "Delphine", "Audrey", "Marion", "Lucie",
)
LAST_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
    "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
    "Marchand", "Duval", "Denis", "Dumont", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
    "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez",
    "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger",
    "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Benoît",
    "Rey", "Leclerc", "Payet", "Rolland", "Guillaume", "Lecomte", "Lopez", "Dupuy", "Guillot", "Hubert",
    "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Deschamps", "Huet", "Vasseur", "Perez", "Boucher",
    "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Renault",
    "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez",
    "Le Gall", "Collet", "Léger", "Bouvier", "Prévost", "Millet", "Perrot", "Le Roux", "Cousin", "Germain",
    "Breton", "Besson", "Langlois", "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré",
    "Diallo", "Traoré", "Benali", "Haddad", "Nguyen", "Da Silva", "Ferreira", "Rossi", "Kone", "Mendy",
)
# (department, commune, city, postal code) of places of birth and residence in France.
CITIES = (
    ("75", "111", "Paris", "75011"), ("75", "115", "Paris", "75015"), ("69", "383", "Lyon", "69003"),
    ("13", "205", "Marseille", "13005"), ("31", "555", "Toulouse", "31000"), ("33", "063", "Bordeaux", "33000"),
    ("59", "350", "Lille", "59000"), ("44", "109", "Nantes", "44000"), ("67", "482", "Strasbourg", "67000"),
    ("34", "172", "Montpellier", "34000"), ("35", "238", "Rennes", "35000"), ("06", "088", "Nice", "06000"),
    ("76", "540", "Rouen", "76000"), ("37", "261", "Tours", "37000"), ("63", "113", "Clermont-Ferrand", "63000"),
    ("21", "231", "Dijon", "21000"), ("29", "019", "Brest", "29200"), ("87", "085", "Limoges", "87000"),
    ("45", "234", "Orléans", "45000"), ("38", "185", "Grenoble", "38000"), ("51", "454", "Reims", "51100"),
    ("72", "181", "Le Mans", "72000"), ("49", "007", "Angers", "49000"), ("57", "463", "Metz", "57000"),
    ("80", "021", "Amiens", "80000"), ("64", "445", "Pau", "64000"), ("2A", "004", "Ajaccio", "20000"),
    ("974", "11", "Saint-Denis", "97400"),
)
# Born abroad: department 99 and the country's code (NIR layout).
COUNTRIES = (("350", "Maroc"), ("352", "Algérie"), ("351", "Tunisie"), ("134", "Espagne"), ("139", "Portugal"),
             ("127", "Italie"), ("341", "Sénégal"), ("326", "Côte d'Ivoire"), ("243", "Viêt Nam"))
STREETS = (
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Gambetta", "rue Pasteur",
    "place de la Mairie", "rue des Écoles", "chemin des Vignes", "allée des Tilleuls", "rue du Moulin",
    "impasse des Lilas", "rue Nationale", "avenue de la Gare", "rue de l'Église", "rue du Général de Gaulle",
    "rue Jules Ferry", "rue Carnot", "avenue Foch", "rue Voltaire", "rue Émile Zola", "quai des Chartrons",
    "rue Saint-Michel", "cours Lafayette", "rue des Acacias", "boulevard de la Liberté",
)
BANK_CODES = ("30002", "30003", "30004", "10278", "20041", "11315", "16006", "18206", "30066", "10107")
# Line of business: activity, work-injury risk class, name patterns, monthly wage range, job titles.
SECTORS = (
    ("Boulangerie-pâtisserie", 2, ("Boulangerie {last}", "Au Fournil {de_city}"), (180_000, 320_000),
     ("Boulanger", "Pâtissier", "Vendeuse", "Apprenti boulanger")),
    ("Bâtiment", 4, ("{last} BTP", "Bâtiment {last} et Fils", "Maçonnerie {last}"), (220_000, 520_000),
     ("Maçon", "Chef de chantier", "Électricien", "Plombier", "Conducteur de travaux")),
    ("Transport routier", 3, ("Transports {last}", "{last} Logistique"), (230_000, 420_000),
     ("Chauffeur poids lourd", "Magasinier", "Cariste", "Responsable d'exploitation")),
    ("Commerce de détail", 1, ("Maison {last}", "Épicerie {last}", "Primeurs {de_city}"), (170_000, 300_000),
     ("Vendeur", "Caissière", "Responsable de rayon", "Gérant")),
    ("Restauration", 2, ("Brasserie {word}", "Restaurant {word}"), (170_000, 320_000),
     ("Cuisinier", "Serveur", "Plongeur", "Chef de rang")),
    ("Conseil informatique", 1, ("{word} Informatique", "{last} Conseil"), (320_000, 900_000),
     ("Développeur", "Chef de projet", "Administrateur systèmes", "Consultante")),
    ("Nettoyage", 3, ("{word} Propreté", "Nettoyage {last}"), (160_000, 260_000),
     ("Agent d'entretien", "Chef d'équipe", "Laveur de vitres")),
    ("Santé", 1, ("Clinique {word}", "Cabinet médical {last}", "Pharmacie {last}"), (240_000, 800_000),
     ("Infirmière", "Aide-soignante", "Secrétaire médicale", "Pharmacien", "Préparatrice")),
    ("Mécanique industrielle", 3, ("Ateliers {last}", "Mécanique {de_city}"), (230_000, 480_000),
     ("Tourneur", "Soudeur", "Technicien de maintenance", "Ingénieur méthodes")),
    ("Agriculture", 4, ("EARL {last}", "GAEC {word}"), (170_000, 280_000),
     ("Ouvrier agricole", "Tractoriste", "Chef de culture")),
    ("Hôtellerie", 2, ("Hôtel {word}", "Hôtel {de_city}"), (170_000, 330_000),
     ("Réceptionniste", "Femme de chambre", "Veilleur de nuit", "Gouvernante")),
    ("Sécurité privée", 2, ("{word} Sécurité", "Gardiennage {last}"), (190_000, 300_000),
     ("Agent de sécurité", "Maître-chien", "Chef de poste")),
)
NAME_WORDS = ("Horizon", "Azur", "Atlas", "Pléiade", "Phare", "Globe", "Érable", "Alizé", "Zénith", "Cèdre",
              "Avenir", "Étoile", "Soleil", "Riviera", "Boréal", "Opale", "Méridien", "Cap Ouest")
LEGAL_FORMS = ("SARL", "SAS", "SA", "EURL", "SASU")


def de_city(city: str) -> str:
    """'de Lyon', 'd'Angers', 'du Mans'."""
    if city.startswith("Le "):
        return "du " + city[3:]
    return ("d'" if city[0] in "AEIOUYÉÈ" else "de ") + city
