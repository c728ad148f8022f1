"""The seed's ``ImageProcessor``, exactly as the design document
(``docs/design-document.fr.rst``) writes it (section
"Optimisation des images"). Kept verbatim, flaws included, as the benchmark baseline."""

# ruff: noqa
# mypy: ignore-errors
from PIL import Image
import io


class ImageProcessor:
    @staticmethod
    def resize_image(image_data: bytes, max_size: tuple = (800, 800)) -> bytes:
        """Redimensionne une image en conservant les proportions"""
        image = Image.open(io.BytesIO(image_data))

        # Conversion en RGB si nécessaire
        if image.mode != "RGB":
            image = image.convert("RGB")

        # Redimensionnement
        image.thumbnail(max_size, Image.Resampling.LANCZOS)

        # Sauvegarde en JPEG
        output = io.BytesIO()
        image.save(output, format="JPEG", quality=85, optimize=True)
        return output.getvalue()

    @staticmethod
    def create_thumbnail(image_data: bytes, size: tuple = (200, 200)) -> bytes:
        """Crée une miniature d'une image"""
        image = Image.open(io.BytesIO(image_data))

        if image.mode != "RGB":
            image = image.convert("RGB")

        # Redimensionnement avec crop centré
        image.thumbnail(size, Image.Resampling.LANCZOS)

        output = io.BytesIO()
        image.save(output, format="JPEG", quality=80, optimize=True)
        return output.getvalue()
